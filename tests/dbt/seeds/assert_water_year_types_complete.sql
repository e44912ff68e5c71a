-- Both valleys have one row for every water year 1906-2023, the abbreviation
-- agrees with the code, the index is not negative, and a few years checked by
-- hand against CDEC's table keep their type (SAC: 1924 C, 1977 C, 1983 W).

with

water_year_types as (
    select * from {{ ref('water_year_types') }}
),

codes as (
    select * from {{ ref('water_year_type_codes') }}
),

expected_years as (
    select
        valleys.valley,
        years.water_year
    from (values ('SAC'), ('SJV')) as valleys (valley)
    cross join generate_series(1906, 2023) as years (water_year)
),

missing_or_extra as (
    select
        coalesce(expected_years.valley, water_year_types.valley) as valley,
        coalesce(expected_years.water_year, water_year_types.water_year) as water_year,
        'missing or unexpected year' as problem
    from expected_years
    full outer join water_year_types
        on
            expected_years.valley = water_year_types.valley
            and expected_years.water_year = water_year_types.water_year
    where expected_years.valley is null or water_year_types.valley is null
),

inconsistent as (
    select
        water_year_types.valley,
        water_year_types.water_year,
        'abbreviation, code or index inconsistent' as problem
    from water_year_types
    left join codes
        on water_year_types.year_type_code = codes.year_type_code
    where
        codes.year_type_abbrev is distinct from water_year_types.year_type_abbrev
        or water_year_types.index_maf < 0
),

hand_checked as (
    select
        checks.valley,
        checks.water_year,
        'differs from the hand-checked CDEC value' as problem
    from (
        values
        ('SAC', 1924, 'C'),
        ('SAC', 1977, 'C'),
        ('SAC', 1983, 'W'),
        ('SJV', 1977, 'C'),
        ('SJV', 1983, 'W')
    ) as checks (valley, water_year, year_type_abbrev)
    left join water_year_types
        on
            checks.valley = water_year_types.valley
            and checks.water_year = water_year_types.water_year
    where water_year_types.year_type_abbrev is distinct from checks.year_type_abbrev
),

final as (
    select * from missing_or_extra
    union all
    select * from inconsistent
    union all
    select * from hand_checked
)

select * from final
