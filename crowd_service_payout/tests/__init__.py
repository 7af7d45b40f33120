from . import (
    test_access,
    test_bills,
    test_concurrency,
    test_customer_invoices,
    test_package,
    test_pay_rules,
    test_payout_approval,
    test_portal,
    test_regressions,
    test_reporting,
    test_rpc,
    test_rpc_security,
    test_scorecard,
)
from . import test_api_example
