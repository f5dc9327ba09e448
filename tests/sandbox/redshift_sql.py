"""Translate the Redshift SQL the loader sends into PostgreSQL, for the sandbox's Data API.

The production renderer (``ddb_cdc.warehouse.sql``, ``redshift`` dialect), the loader's
load-error look-ups and the CLI send Redshift text. The sandbox runs it on PostgreSQL:
each statement is parsed with sqlglot (``read="redshift"``), its abstract syntax tree is
rewritten where the two databases differ, and PostgreSQL text is generated. What is
rewritten (the differences ``ddb_cdc.warehouse.sql`` lists in its module docstring):

* ``SUPER`` columns and casts become ``JSONB``; ``DISTSTYLE``/``DISTKEY``/``SORTKEY`` are
  dropped (they only place rows on slices).
* ``LOCK a, b`` becomes ``LOCK TABLE a, b IN ACCESS EXCLUSIVE MODE`` (Redshift's LOCK is
  always ACCESS EXCLUSIVE).
* ``SET enable_case_sensitive_identifier TO true|false`` is kept as session state: while
  it is false, Redshift folds quoted SUPER attribute names to lower case, and so does the
  translation of a navigation path.
* SUPER navigation ``alias."col"."a"."b"`` becomes ``(alias."col" #> ARRAY['a','b'])``; a
  ``CAST`` of a SUPER value follows Redshift's lax mode: a missing path, an object or an
  array, or a value the target type does not accept gives NULL instead of an error.
  ``JSON_SERIALIZE`` becomes the JSONB text, ``JSON_PARSE`` a cast to JSONB, ``IS_VARCHAR``
  a test of the JSON type.
* ``SYSDATE`` becomes the transaction's start time in UTC, without time zone.
* ``stl_load_errors`` and ``sys_load_error_detail`` are read from :data:`SYSTEM_SCHEMA`,
  where the Data API emulator records the failures of its COPY statements.
* ``COPY`` is not translated: the Data API emulator hands it, as Redshift text, to the
  rig's strict COPY adapter (``tests.rig.pg_copy``), which reads the manifest from S3.

Whether a column is SUPER comes from the PostgreSQL catalog (JSONB columns of the tables
the statement names, temporary tables included) and, for a derived table or CTE, from
its select list. A construct this module does not understand raises
:class:`UnsupportedSql`; the emulator then fails the statement, as Redshift would fail a
statement it cannot run. Nothing is passed through on a guess.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import psycopg2
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from tests.rig.pg_copy import CopyError, StatementResult, StrictCopyExecutor, is_copy, parse_copy
from tests.sandbox import redshift_rules as rules

SYSTEM_SCHEMA: Final = "sandbox_redshift_system"
SYSTEM_TABLES: Final = ("stl_load_errors", "sys_load_error_detail")
# The two load-error relations with the columns the loader reads (Redshift's own have
# more); created by the Data API emulator on start.
SYSTEM_DDL: Final = (
    f'CREATE SCHEMA IF NOT EXISTS "{SYSTEM_SCHEMA}"',
    f'CREATE TABLE IF NOT EXISTS "{SYSTEM_SCHEMA}"."stl_load_errors" ('
    '"userid" INTEGER, "slice" INTEGER, "tbl" INTEGER, "starttime" TIMESTAMP, "session" INTEGER, '
    '"query" INTEGER, "filename" CHAR(256), "line_number" BIGINT, "colname" CHAR(127), '
    '"type" CHAR(10), "col_length" CHAR(10), "position" INTEGER, "raw_line" CHAR(1024), '
    '"raw_field_value" CHAR(1024), "err_code" INTEGER, "err_reason" CHAR(100))',
    f'CREATE TABLE IF NOT EXISTS "{SYSTEM_SCHEMA}"."sys_load_error_detail" ('
    '"user_id" INTEGER, "query_id" BIGINT, "transaction_id" BIGINT, "session_id" INTEGER, '
    '"database_name" CHAR(64), "table_id" INTEGER, "start_time" TIMESTAMP, "file_name" CHAR(1280), '
    '"line_number" BIGINT, "column_name" CHAR(127), "column_type" CHAR(128), "column_length" CHAR(10), '
    '"position" INTEGER, "error_code" INTEGER, "error_message" CHAR(512))',
)

_CHARACTER_TYPES: Final = frozenset(
    {exp.DataType.Type.CHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.NCHAR}
)
_SCALAR_JSON: Final = "('string', 'number', 'boolean')"
_ALLOWED_PROPERTIES: Final = (exp.TemporaryProperty,)
_DROPPED_PROPERTIES: Final = (exp.DistStyleProperty, exp.DistKeyProperty, exp.SortKeyProperty)
_ALLOWED_CONSTRAINTS: Final = (
    exp.NotNullColumnConstraint,
    exp.PrimaryKeyColumnConstraint,
    exp.UniqueColumnConstraint,
    exp.DefaultColumnConstraint,
)
_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_RELATION = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_LOCK = re.compile(rf"LOCK\s+(?:TABLE\s+)?({_RELATION}(?:\s*,\s*{_RELATION})*)", re.IGNORECASE | re.DOTALL)
_SET = re.compile(r"SET\s+([A-Za-z_]+)\s*(?:TO|=)\s*(.+)", re.IGNORECASE | re.DOTALL)


# Quoted identifiers, string literals and comments, so that literals are found exactly.
_LEXEMES = re.compile(r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
_LITERAL_MARK = re.compile(r"'__sandbox_literal_([0-9]+)__'")
# Literals whose content the parser reads (typed literals, intervals), backslash escapes
# and dollar quoting: such statements are translated without the cache.
_UNCACHEABLE = re.compile(r"\\|\$|\b(?:INTERVAL|DATE|TIME|TIMESTAMP|TIMESTAMPTZ|TIMETZ)\s*'", re.IGNORECASE)
_CACHE_SIZE: Final = 1024
_PG_MAX_NAME: Final = 63
_CACHE: dict[tuple[str, bool], tuple[str, tuple[tuple[tuple[str | None, str], Any], ...]]] = {}


class UnsupportedSql(Exception):
    """A statement (or part of one) the translation does not handle; the statement fails."""


@dataclass
class Session:
    """Per-session settings that change how later statements read."""

    case_sensitive_identifiers: bool = False


@dataclass(frozen=True, slots=True)
class Translated:
    """``sql``: PostgreSQL text (``kind == "sql"``), the Redshift COPY text for the COPY
    adapter (``"copy"``, with ``copy_table`` its target), or nothing to run (``"noop"``)."""

    kind: Literal["sql", "copy", "noop"]
    sql: str
    copy_table: str | None = None


# (schema or None, table) -> its JSONB (SUPER) column names, or None if no such relation.
SuperColumns = Callable[[str | None, str], frozenset[str] | None]


class CatalogSuperColumns:
    """Look SUPER (JSONB) columns up in the catalog, through ``cursor``'s transaction.

    Resolution follows the search path, so a temporary table created earlier in the same
    transaction is found by its bare name. Call :meth:`forget` after a statement that may
    have changed the catalog.
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._cache: dict[tuple[str | None, str], tuple[frozenset[str], frozenset[str]] | None] = {}

    def forget(self) -> None:
        self._cache.clear()

    def _lookup(self, schema: str | None, table: str) -> tuple[frozenset[str], frozenset[str]] | None:
        key = (schema, table)
        if key not in self._cache:
            name = _quote(table) if schema is None else f"{_quote(schema)}.{_quote(table)}"
            self._cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL, "
                "ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                "AND atttypid = 'jsonb'::regtype AND attnum > 0 AND NOT attisdropped), "
                "ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                "AND atttypid IN ('varchar'::regtype, 'bpchar'::regtype, 'text'::regtype) "
                "AND attnum > 0 AND NOT attisdropped)",
                (name, name, name),
            )
            exists, supers, characters = self._cursor.fetchone()
            self._cache[key] = (frozenset(supers), frozenset(characters)) if exists else None
        return self._cache[key]

    def __call__(self, schema: str | None, table: str) -> frozenset[str] | None:
        found = self._lookup(schema, table)
        return None if found is None else found[0]

    def characters(self, schema: str | None, table: str) -> frozenset[str]:
        """CHAR/VARCHAR columns, which Redshift compares without trailing spaces."""
        found = self._lookup(schema, table)
        return frozenset() if found is None else found[1]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _name(identifier: exp.Identifier | str | None) -> str:
    """An identifier as Redshift resolves a table or column name: unquoted folds to lower."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return identifier.lower()
    if not isinstance(identifier, exp.Identifier):
        raise UnsupportedSql(f"unsupported name {identifier.sql(dialect='redshift')!r}")
    return identifier.this if identifier.quoted else identifier.this.lower()


@dataclass
class _Scope:
    """Relations a statement names (by alias and by name) with their SUPER columns."""

    supers: dict[str, frozenset[str]] = field(default_factory=dict)
    characters: dict[str, frozenset[str]] = field(default_factory=dict)
    qualified: set[tuple[str, str]] = field(default_factory=set)


class Translator:
    """Translates one session's statements, in order (the session state carries over)."""

    def __init__(
        self, super_columns: SuperColumns, session: Session | None = None, *, cache: bool = True
    ) -> None:
        self._super_columns = super_columns
        self.session = session or Session()
        self._use_cache = cache

    # -- entry point ----------------------------------------------------------

    def translate(self, statement: str, parameters: Mapping[str, str] | None = None) -> Translated:
        rules.check_statement_size(statement)
        rules.check_one_statement(statement)
        text = statement.strip()
        while text.endswith(";"):
            text = text[:-1].rstrip()
        if not text:
            raise UnsupportedSql("empty statement")
        if is_copy(text):
            if parameters:
                raise UnsupportedSql("COPY takes no parameters")
            try:
                command = parse_copy(text)
            except CopyError as exc:
                raise UnsupportedSql(str(exc)) from None
            return Translated("copy", text, command.table)
        lock = _LOCK.fullmatch(text)
        if lock:
            return Translated("sql", f"LOCK TABLE {lock.group(1)} IN ACCESS EXCLUSIVE MODE")
        setting = _SET.fullmatch(text)
        if setting:
            return self._set(setting.group(1).lower(), setting.group(2).strip())
        if self._use_cache and not parameters and not _UNCACHEABLE.search(text):
            try:
                return Translated("sql", self._cached(text))
            except UnsupportedSql:
                pass  # translated again below, for an error message with the real literals
        return Translated("sql", self._parse_and_translate(text, parameters or {}))

    def _parse_and_translate(self, text: str, parameters: Mapping[str, str]) -> str:
        try:
            trees = sqlglot.parse(text, read="redshift", error_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise UnsupportedSql(f"syntax error: {_first_line(exc)}") from None
        if len(trees) != 1 or trees[0] is None:
            raise UnsupportedSql("one statement per SQL string (use BatchExecuteStatement for several)")
        return self._translate_tree(trees[0], parameters)

    def _cached(self, text: str) -> str:
        """Translate with string literals abstracted, so that the loads of one target (which
        differ only in load id, manifest URL and file keys) parse once; a cached
        translation is reused only while the catalog answers its look-ups the same way."""
        literals: list[str] = []

        def abstract(match: re.Match[str]) -> str:
            if match.group(0).startswith("'"):
                literals.append(match.group(0))
                return f"'__sandbox_literal_{len(literals) - 1}__'"
            return match.group(0)

        template = _LEXEMES.sub(abstract, text)
        key = (template, self.session.case_sensitive_identifiers)
        entry = _CACHE.get(key)
        if entry is None or any(self._relation(*lookup) != answer for lookup, answer in entry[1]):
            lookups: list[tuple[tuple[str | None, str], Any]] = []
            answer = self._relation

            def recording(schema: str | None, table: str) -> Any:
                result = answer(schema, table)
                lookups.append(((schema, table), result))
                return result

            self._relation = recording  # type: ignore[method-assign]
            try:
                entry = (self._parse_and_translate(template, {}), tuple(lookups))
            finally:
                del self._relation
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[key] = entry
        return _LITERAL_MARK.sub(lambda match: literals[int(match.group(1))], entry[0])

    def _relation(self, schema: str | None, table: str) -> tuple[frozenset[str] | None, frozenset[str]]:
        """A relation's SUPER columns (None: no such relation) and CHAR/VARCHAR columns."""
        supers = self._super_columns(schema, table)
        characters = getattr(self._super_columns, "characters", None)
        return supers, (
            characters(schema, table) if characters is not None and supers is not None else frozenset()
        )

    def _set(self, name: str, value: str) -> Translated:
        if name == "enable_case_sensitive_identifier":
            flag = value.strip("'").lower()
            if flag not in ("true", "on", "false", "off"):
                raise UnsupportedSql(f"invalid value for enable_case_sensitive_identifier: {value}")
            self.session.case_sensitive_identifiers = flag in ("true", "on")
            return Translated("noop", "")
        if name in ("statement_timeout", "search_path", "timezone"):
            return Translated("sql", f"SET {name} TO {value}")
        raise UnsupportedSql(f"SET {name} is not supported by the sandbox")

    # -- the tree -------------------------------------------------------------

    def _translate_tree(self, tree: exp.Expression, parameters: Mapping[str, str]) -> str:
        if isinstance(tree, exp.Command | exp.Transaction | exp.Commit | exp.Rollback):
            raise UnsupportedSql(f"{tree.sql(dialect='redshift')[:60]!r} is not supported by the sandbox")
        snippets: dict[str, str] = {}
        super_marks: set[str] = set()

        def placeholder(sql: str, *, is_super: bool = False) -> exp.Column:
            name = f"__rs_{len(snippets)}__"
            snippets[name] = sql
            if is_super:
                super_marks.add(name)
            return exp.column(exp.to_identifier(name, quoted=True))

        self._bind_parameters(tree, parameters)
        if not self.session.case_sensitive_identifiers:
            # Redshift's default: quoted names fold to lower case too (tables, columns,
            # aliases and SUPER attributes alike).
            for identifier in tree.find_all(exp.Identifier):
                if identifier.quoted:
                    identifier.set("this", identifier.this.lower())
        self._strip_create(tree)
        scope = self._scope(tree)

        # 0. Redshift compares CHAR/VARCHAR without trailing spaces; PostgreSQL's VARCHAR does not.
        _ignore_trailing_spaces(tree, scope)

        # 1. Navigation: outermost Dot chains and Columns of three or more parts.
        navigations: list[exp.Expression] = []
        for node in list(tree.find_all(exp.Column, exp.Dot)):
            if isinstance(node.parent, exp.Dot) or node.root() is not tree:
                continue
            parts = _parts(node)
            if parts is None:
                continue
            navigation = self._navigation(parts, scope)
            if navigation is not None:
                navigations.append(node.copy())
                node.replace(placeholder(navigation, is_super=True))
        if isinstance(tree, exp.Merge):
            rules.check_merge(tree, lambda column: self._column_is_super(column, scope), navigations)

        def is_super(node: exp.Expression) -> bool:
            if isinstance(node, exp.Column) and not node.table and node.name in super_marks:
                return True
            if isinstance(node, exp.Column):
                return self._column_is_super(node, scope)
            return isinstance(node, exp.Paren) and is_super(node.this)

        def value_sql(node: exp.Expression) -> str:
            if isinstance(node, exp.Column) and node.name in snippets:
                return snippets[node.name]
            return node.sql(dialect="postgres")

        for parse in list(tree.find_all(exp.ParseJSON)):
            parse.replace(placeholder(f"CAST({value_sql(parse.this)} AS JSONB)", is_super=True))

        # 2. Casts of SUPER values: lax mode.
        for cast in list(tree.find_all(exp.Cast)):
            if not is_super(cast.this):
                if cast.to.is_type(exp.DataType.Type.SUPER):
                    raise UnsupportedSql("CAST(... AS SUPER) of a non-SUPER value is not supported")
                continue
            cast.replace(placeholder(rules.lax_cast(value_sql(cast.this), cast.to)))

        # 3. SUPER functions.
        for function in list(tree.find_all(exp.Anonymous)):
            name = str(function.this).upper()
            if name == "JSON_SERIALIZE":
                if len(function.expressions) != 1 or not is_super(function.expressions[0]):
                    raise UnsupportedSql("JSON_SERIALIZE takes one SUPER argument")
                function.replace(placeholder(rules.json_serialize(value_sql(function.expressions[0]))))
            elif name == "JSON_SIZE":
                if len(function.expressions) != 1 or not is_super(function.expressions[0]):
                    raise UnsupportedSql("JSON_SIZE takes one SUPER argument")
                function.replace(placeholder(rules.json_size(value_sql(function.expressions[0]))))
            elif name == "IS_VARCHAR":
                if len(function.expressions) != 1 or not is_super(function.expressions[0]):
                    raise UnsupportedSql("IS_VARCHAR takes one SUPER argument")
                function.replace(
                    placeholder(f"(jsonb_typeof({value_sql(function.expressions[0])}) = 'string')")
                )
            elif name in ("JSON_TYPEOF", "IS_OBJECT", "IS_ARRAY", "IS_SCALAR"):
                raise UnsupportedSql(f"{name} is not supported by the sandbox")

        # 4. SYSDATE, SUPER types, system tables.
        for now in list(tree.find_all(exp.CurrentTimestamp)):
            if now.args.get("sysdate"):
                now.replace(placeholder("(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"))
        for data_type in list(tree.find_all(exp.DataType)):
            if data_type.is_type(exp.DataType.Type.SUPER):
                data_type.replace(exp.DataType.build("JSONB"))
        for table in tree.find_all(exp.Table):
            if (
                isinstance(table.this, exp.Identifier)
                and not table.args.get("db")
                and _name(table.this) in SYSTEM_TABLES
            ):
                table.set("db", exp.to_identifier(SYSTEM_SCHEMA, quoted=True))

        # Redshift names may be 127 bytes; PostgreSQL would silently cut them at 63.
        for identifier in tree.find_all(exp.Identifier):
            if len(str(identifier.this).encode()) > _PG_MAX_NAME:
                raise UnsupportedSql(
                    f"name {identifier.this!r} is longer than the {_PG_MAX_NAME} bytes PostgreSQL keeps"
                )
        try:
            sql = tree.sql(dialect="postgres", unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise UnsupportedSql(f"cannot express in PostgreSQL: {_first_line(exc)}") from None
        for name in sorted(snippets, key=len, reverse=True):
            sql = sql.replace(_quote(name), snippets[name])
        return sql

    @staticmethod
    def _bind_parameters(tree: exp.Expression, parameters: Mapping[str, str]) -> None:
        # Data API parameters are strings that the server types from their context; an
        # untyped quoted literal is exactly that in PostgreSQL.
        for node in list(tree.find_all(exp.Placeholder)):
            name = str(node.this or "")
            if not name:
                raise UnsupportedSql("positional '?' parameters are not supported; use :name")
            if name not in parameters:
                raise UnsupportedSql(f"no value given for parameter :{name}")
            node.replace(exp.Literal.string(parameters[name]))

    @staticmethod
    def _strip_create(tree: exp.Expression) -> None:
        properties = tree.args.get("properties") if isinstance(tree, exp.Create) else None
        if properties is not None:
            kept = []
            for prop in properties.expressions:
                if isinstance(prop, _DROPPED_PROPERTIES):
                    continue
                if not isinstance(prop, _ALLOWED_PROPERTIES):
                    raise UnsupportedSql(
                        f"table property {prop.sql(dialect='redshift')!r} is not supported by the sandbox"
                    )
                kept.append(prop)
            if kept:
                properties.set("expressions", kept)
            else:
                tree.set("properties", None)
        for constraint in tree.find_all(exp.ColumnConstraint):
            if not isinstance(constraint.args.get("kind"), _ALLOWED_CONSTRAINTS):
                raise UnsupportedSql(
                    f"column constraint {constraint.sql(dialect='redshift')!r} is not supported by the sandbox"
                )

    # -- scope ------------------------------------------------------------------

    def _scope(self, tree: exp.Expression) -> _Scope:
        scope = _Scope()
        created = tree.this if isinstance(tree, exp.Create) else None
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier) or (
                created is not None and (table is created or table.parent is created)
            ):
                continue
            schema = _name(table.args.get("db")) or None
            name = _name(table.this)
            if schema is None and name in SYSTEM_TABLES:
                columns: frozenset[str] | None = frozenset()
                characters: frozenset[str] = frozenset()
            else:
                columns, characters = self._relation(schema, name)
            columns = columns or frozenset()
            alias = table.args.get("alias")
            scope.supers[name] = columns
            scope.characters[name] = characters
            if alias is not None and alias.this:
                scope.supers[_name(alias.this)] = columns
                scope.characters[_name(alias.this)] = characters
            if schema:
                scope.qualified.add((schema, name))
        # Derived tables and CTEs, innermost first: a select-list column is SUPER when it
        # is a SUPER column (or navigation) of what that select reads.
        derived = [node for node in tree.find_all(exp.Subquery, exp.CTE, bfs=False) if node.alias]
        for node in reversed(derived):
            select = node.this
            if not isinstance(select, exp.Select):
                continue
            supers, characters = set(), set()
            for projection in select.expressions:
                inner = projection.unalias()
                if _is_character(inner, scope):
                    characters.add(projection.alias_or_name)
                parts = _parts(inner)
                if parts is None:
                    continue
                column = isinstance(inner, exp.Column) and self._column_is_super(inner, scope)
                if column or (len(parts) >= 2 and self._navigation(parts, scope, check_only=True)):
                    supers.add(projection.alias_or_name)
            scope.supers[_name(node.args["alias"].this)] = frozenset(supers)
            scope.characters[_name(node.args["alias"].this)] = frozenset(characters)
        return scope

    @staticmethod
    def _column_is_super(column: exp.Column, scope: _Scope) -> bool:
        if column.args.get("db") or column.args.get("catalog"):
            return False
        name = _name(column.this)
        if column.table:
            return name in scope.supers.get(_name(column.args["table"]), frozenset())
        return any(name in columns for columns in scope.supers.values())

    def _navigation(
        self, parts: list[exp.Identifier], scope: _Scope, *, check_only: bool = False
    ) -> str | None:
        """PostgreSQL for SUPER navigation, or None for an ordinary column reference."""
        names = [_name(part) for part in parts]
        if len(parts) >= 3 and names[0] in scope.supers and names[1] in scope.supers[names[0]]:
            base, path = f"{_quote(names[0])}.{_quote(names[1])}", parts[2:]
        elif (
            len(parts) == 2
            and names[0] not in scope.supers
            and any(names[0] in columns for columns in scope.supers.values())
        ):
            base, path = _quote(names[0]), parts[1:]
        elif len(parts) >= 3:
            if len(parts) == 3 and (names[0], names[1]) in scope.qualified:
                return None
            if check_only:
                return None
            raise UnsupportedSql(
                f"cannot resolve {'.'.join(part.sql(dialect='redshift') for part in parts)}: "
                "neither a column nor SUPER navigation of a table in this statement"
            )
        else:
            return None
        if check_only:
            return "super"
        segments = [
            part.this if part.quoted and self.session.case_sensitive_identifiers else part.this.lower()
            for part in path
        ]
        return f"({base} #> ARRAY[{', '.join(_literal(segment) for segment in segments)}]::text[])"


def _parts(node: exp.Expression) -> list[exp.Identifier] | None:
    """The dotted name of a Column or of a Dot chain over one; None for anything else."""
    if isinstance(node, exp.Column):
        if isinstance(node.this, exp.Star):
            return None
        parts = [node.args.get(key) for key in ("catalog", "db", "table")] + [node.this]
        identifiers = [part for part in parts if part is not None]
        if not all(isinstance(part, exp.Identifier) for part in identifiers):
            raise UnsupportedSql(f"unsupported reference {node.sql(dialect='redshift')!r}")
        return identifiers
    if isinstance(node, exp.Dot):
        left = _parts(node.this)
        if left is None or not isinstance(node.expression, exp.Identifier):
            raise UnsupportedSql(f"unsupported navigation {node.sql(dialect='redshift')!r}")
        return [*left, node.expression]
    return None


def _is_character(node: exp.Expression, scope: _Scope) -> bool:
    """Whether a value is CHAR/VARCHAR text: a string literal, a cast to text, or such a column."""
    if isinstance(node, exp.Paren):
        return _is_character(node.this, scope)
    if isinstance(node, exp.Literal):
        return node.is_string
    if isinstance(node, exp.Cast):
        return node.to.this in _CHARACTER_TYPES
    if isinstance(node, exp.Column) and not node.args.get("db") and isinstance(node.this, exp.Identifier):
        name = _name(node.this)
        if node.table:
            return name in scope.characters.get(_name(node.args["table"]), frozenset())
        return any(name in columns for columns in scope.characters.values())
    return False


def _rtrim(node: exp.Expression) -> None:
    node.replace(exp.Anonymous(this="RTRIM", expressions=[node.copy(), exp.Literal.string(" ")]))


def _ignore_trailing_spaces(tree: exp.Expression, scope: _Scope) -> None:
    """Redshift ignores trailing spaces when it compares CHAR/VARCHAR values
    (:func:`tests.sandbox.redshift_rules.ignores_trailing_spaces`): both sides of an
    equality, an IN list and a window's PARTITION BY are compared right-trimmed here."""
    for comparison in list(tree.find_all(exp.EQ, exp.NEQ)):
        left, right = comparison.this, comparison.expression
        if (
            isinstance(comparison.parent, exp.Update | exp.Merge)
            and comparison.parent.args.get("on") is not comparison
        ):
            continue  # SET col = value is an assignment, not a comparison
        if (
            _is_character(left, scope)
            and _is_character(right, scope)
            and not (isinstance(left, exp.Literal) and isinstance(right, exp.Literal))
        ):
            _rtrim(left)
            _rtrim(right)
    for membership in list(tree.find_all(exp.In)):
        values = membership.expressions
        if values and _is_character(membership.this, scope) and all(_is_character(v, scope) for v in values):
            for node in [membership.this, *values]:
                _rtrim(node)
    for window in list(tree.find_all(exp.Window)):
        for node in list(window.args.get("partition_by") or []):
            if _is_character(node, scope):
                _rtrim(node)
    for grouping in (*tree.find_all(exp.Group), *tree.find_all(exp.Distinct)):
        if any(_is_character(node, scope) for node in grouping.expressions):
            raise UnsupportedSql(
                "GROUP BY or DISTINCT over CHAR/VARCHAR values: Redshift ignores trailing spaces there, "
                "which the sandbox does not emulate"
            )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_CHANGES_CATALOG: Final = re.compile(r"\s*(?:CREATE|DROP|ALTER)\b", re.IGNORECASE)


def changes_catalog(sql: str) -> bool:
    """Whether a translated statement may change column types (the catalog cache is then dropped)."""
    return bool(_CHANGES_CATALOG.match(sql))


class RedshiftOnPostgres(StrictCopyExecutor):
    """Runs a list of **Redshift** statements as one PostgreSQL transaction, the way a
    Data API batch runs: each statement is held to :mod:`tests.sandbox.redshift_rules`,
    translated in order (session settings and the temporary tables of earlier statements
    carry over), and a COPY goes to the strict COPY adapter. The test rig's warehouse
    uses it, so the property tests see what Redshift would accept, and nothing else."""

    def run_transaction(self, statements: Sequence[str]) -> list[StatementResult]:
        rules.check_batch(statements)
        results: list[StatementResult] = []
        try:
            with self.connection.cursor() as cursor:
                catalog = CatalogSuperColumns(cursor)
                translator = Translator(catalog)
                for index, statement in enumerate(statements):
                    started = time.perf_counter()
                    translated = translator.translate(statement)
                    if translated.kind == "copy":
                        count = self.copy(cursor, parse_copy(translated.sql))
                        results.append(
                            StatementResult(statement, count, None, None, time.perf_counter() - started)
                        )
                    elif translated.kind == "sql":
                        try:
                            cursor.execute(translated.sql)
                        except psycopg2.Error as exc:
                            message = rules.merge_error(str(exc))
                            if message is not None:
                                raise rules.RedshiftRefuses(message, rules.MERGE_PAGE) from exc
                            raise
                        if changes_catalog(translated.sql):
                            catalog.forget()
                        columns = tuple(d[0] for d in cursor.description) if cursor.description else None
                        rows = cursor.fetchall() if columns is not None else None
                        results.append(
                            StatementResult(
                                statement, cursor.rowcount, columns, rows, time.perf_counter() - started
                            )
                        )
                    else:
                        results.append(
                            StatementResult(statement, 0, None, None, time.perf_counter() - started)
                        )
                    if self.after_statement is not None:
                        self.after_statement(index, statement)
            self.connection.commit()
        except BaseException:
            self._rollback()
            raise
        return results
