{#- The one home of the KPI bands (KPIS.md, Workforce basics). Lower bounds are inclusive. -#}

{% macro age_band(age_years) -%}
    case
        when {{ age_years }} < 25 then '<25'
        when {{ age_years }} < 35 then '25-34'
        when {{ age_years }} < 45 then '35-44'
        when {{ age_years }} < 55 then '45-54'
        when {{ age_years }} < 60 then '55-59'
        when {{ age_years }} < 65 then '60-64'
        else '65+'
    end
{%- endmacro %}

{% macro tenure_band(tenure_years) -%}
    case
        when {{ tenure_years }} < 1 then '<1y'
        when {{ tenure_years }} < 2 then '1-2y'
        when {{ tenure_years }} < 5 then '2-5y'
        when {{ tenure_years }} < 10 then '5-10y'
        else '10y+'
    end
{%- endmacro %}

{#- Band boundaries in whole years, so a segment can be split on the day a person crosses one. -#}
{% macro age_band_boundaries() %}{{ return([25, 35, 45, 55, 60, 65]) }}{% endmacro %}
{% macro tenure_band_boundaries() %}{{ return([1, 2, 5, 10]) }}{% endmacro %}

{#- Whole years completed between two dates (birthday logic), portable across adapters. The
    year count passed to dateadd is parenthesised: dbt-spark multiplies the interval by 12
    textually (`year(b) - year(a) * 12`), which made every age and tenure band wrong on Spark. -#}
{% macro completed_years(from_date, to_date) -%}
    (
        {{ dbt.datediff(from_date, to_date, 'year') }}
        - case
            when {{ dbt.dateadd('year', '(' ~ dbt.datediff(from_date, to_date, 'year') ~ ')', from_date) }}
                > {{ to_date }} then 1
            else 0
        end
    )
{%- endmacro %}
