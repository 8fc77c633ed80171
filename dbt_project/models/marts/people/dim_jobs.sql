select
    job_code,
    job_title,
    job_family,
    job_level
from {{ ref('stg_hris__jobs') }}
