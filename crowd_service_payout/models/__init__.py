from . import (
    crowd_move_source,
    account_move,
    account_move_line,
    account_partial_reconcile,
    crowd_dispatch_engine,
    crowd_dispatch_offer,
    crowd_job,
    crowd_pay_rule,
    crowd_payout,
    crowd_service_package,
    crowd_service_contract,
    crowd_customer_charge,
    maintenance_equipment,
    maintenance_request,
    res_company,
    res_config_settings,
    res_partner,
)

# Last: its SQL view reads crowd_payout, whose table must exist when the view is created.
from . import crowd_job_cost_report, crowd_margin_report  # isort: skip
