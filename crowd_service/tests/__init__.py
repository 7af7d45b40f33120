from . import test_dispatch_rule
from . import test_dispatch_flow
from . import test_dispatch_concurrency
from . import test_dispatch_webhook
from . import test_dispatch_security
