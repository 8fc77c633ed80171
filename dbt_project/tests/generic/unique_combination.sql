{#- Primary key over several columns (dbt_utils' unique_combination_of_columns cannot be
    installed offline). Nulls count as a value, so two rows with a null key part collide. -#}
{% test unique_combination(model, combination) %}

select
    {{ combination | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1

{% endtest %}
