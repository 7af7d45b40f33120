from . import maintenance_request
