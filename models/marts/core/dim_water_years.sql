with

year_types as (
    select * from {{ ref('water_year_types') }}
),

codes as (
    select * from {{ ref('water_year_type_codes') }}
),

typed as (
    select
        year_types.water_year,
        year_types.valley,
        year_types.year_type_code,
        year_types.year_type_abbrev,
        codes.name as year_type_name,
        year_types.index_maf
    from year_types
    inner join codes on year_types.year_type_code = codes.year_type_code
),

final as (
    select
        sac.water_year,
        sac.year_type_abbrev as sac_year_type_abbrev,
        sac.year_type_name as sac_year_type_name,
        sjv.year_type_abbrev as sjv_year_type_abbrev,
        sjv.year_type_name as sjv_year_type_name,
        sac.year_type_code as sac_year_type_code,
        sac.index_maf as sac_index_maf,
        sjv.year_type_code as sjv_year_type_code,
        sjv.index_maf as sjv_index_maf,
        make_date(sac.water_year - 1, 10, 1) as start_date,
        make_date(sac.water_year, 9, 30) as end_date
    from typed as sac
    left join typed as sjv
        on
            sac.water_year = sjv.water_year
            and sjv.valley = 'SJV'
    where sac.valley = 'SAC'
)

select * from final
