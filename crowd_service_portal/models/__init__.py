from . import crowd_job
from . import crowd_join_attempt
from . import maintenance_equipment
from . import maintenance_request
from . import res_partner
from . import res_partner_join
from . import res_users
from . import res_partner_live
