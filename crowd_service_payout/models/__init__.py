from . import (
    account_move,
    crowd_payout,
    crowd_service_package,
    maintenance_equipment,
    maintenance_request,
    res_company,
    res_config_settings,
    res_partner,
)
from . import crowd_job_cost_report
