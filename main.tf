# The root module composes the submodules in modules/ by the strategy flags in variables.tf.
