"""Azure Functions blueprints: the only package (with function_app.py) that imports azure.functions and
azure.durable_functions. Each module exposes one `bp` that function_app.py registers."""
