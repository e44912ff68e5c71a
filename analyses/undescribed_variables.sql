-- Variables present in loaded model output that the variables seed does not
-- describe yet, most widespread first: the to-do list for seeds/variables/variables.csv.
-- Compile with `dbt compile --select undescribed_variables` and run the SQL in target/.
with

variables as (
    select * from {{ ref('dim_variables') }}
),

final as (
    select
        variable_key,
        b_part,
        c_part,
        unit_code,
        scenario_count
    from variables
    where not is_described
    order by scenario_count desc, variable_key asc
)

select * from final
