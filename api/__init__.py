"""The restore service over HTTP: a FastAPI app under /api/v1. Host-agnostic: the Functions app serves it through
AsgiMiddleware (blueprints/api.py), and uvicorn serves it locally for the demo and the tests (devenv/api_server.py)."""
