# Inputs of the root module.
