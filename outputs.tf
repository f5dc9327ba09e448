# Outputs of the root module.
