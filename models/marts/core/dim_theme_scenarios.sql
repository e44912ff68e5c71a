with

links as (
    select * from {{ ref('theme_scenarios') }}
),

final as (
    select
        theme_code,
        scenario_id,
        is_primary
    from links
)

select * from final
