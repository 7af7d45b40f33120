from . import crowd_job
from . import maintenance_equipment
from . import maintenance_request
from . import res_partner
from . import res_partner_live
