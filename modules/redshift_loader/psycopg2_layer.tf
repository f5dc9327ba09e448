# The psycopg2 layer, published from the zip `make layer` builds (tests/layer/build_psycopg2_layer.py: pinned
# psycopg2-binary for python3.12 on x86_64, reproducible bytes), in the style of terraform-aws-modules/lambda's
# local packages. Only with executor = "psycopg2" and psycopg2_layer_zip set; psycopg2_layer_arn names your own.
# A Python layer's content sits under python/, which Lambda puts on sys.path:
# https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths

resource "aws_lambda_layer_version" "psycopg2" {
  count = local.psycopg2 && var.psycopg2_layer_zip != null ? 1 : 0

  layer_name  = "${var.name}-psycopg2"
  description = "psycopg2-binary for the ${var.name} loader (python3.12, x86_64)"
  filename    = var.psycopg2_layer_zip
  # The zip's own hash: a rebuilt layer with the same inputs has the same bytes, so no new version is published.
  source_code_hash         = filebase64sha256(var.psycopg2_layer_zip)
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["x86_64"]
  license_info             = "LGPL-3.0-or-later"

  # A new version is published before the old one is deleted, so the function never points at a deleted version.
  lifecycle {
    create_before_destroy = true
  }
}

locals {
  # What the loader function's `layers` uses: your layer, or the one published above.
  psycopg2_layer_arn = var.psycopg2_layer_arn != null ? var.psycopg2_layer_arn : one(aws_lambda_layer_version.psycopg2[*].arn)
}
