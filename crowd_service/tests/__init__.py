from . import test_expert_pool
from . import test_certificate
from . import test_asset_defaults
from . import test_security
