"""The Azure Functions entry point: builds the Durable app and registers the blueprints. No logic here, and nothing
reads a setting at import time, so indexing works with no app settings defined."""

import azure.durable_functions as df
import azure.functions as func

from blueprints.api import bp as api_bp
from blueprints.backup import bp as backup_bp
from blueprints.purge import bp as purge_bp
from blueprints.restore import bp as restore_bp
from blueprints.verify import bp as verify_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(backup_bp)
app.register_functions(restore_bp)
app.register_functions(api_bp)
app.register_functions(verify_bp)
app.register_functions(purge_bp)
