-- One row per leaver: exit reason, initiative, regretted, tenure at exit, and the segment (org
-- unit, job, manager, tenure band) of the last day worked.
select * from {{ ref('int_exits_attributed') }}
