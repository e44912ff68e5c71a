{#-
    Packed storage of a scenario_store model (config `packed_by`): one row per
    scenario and key (e.g. per series) holding each other column as an array,
    read back as the model's rows by a view. A statistics table of ~20 rows per
    series repeats on every row a ~28-byte row header and the scenario,
    series, unit, parameters hash and load time: packed, the year-type
    statistics of a full-size scenario take 42 MiB instead of 152 (docs/scaling.md).

    The shape is told by the packed table's own columns, so the build, the
    publish step and a test read it the same way:
    - `packed_rows`: how many rows the packed row holds (the marker);
    - the other non-array columns: the key (scenario_id and `packed_by`);
    - an array column with companions `<c>__first` and `<c>__last`: an array
      column of the model, its arrays concatenated in row order (each row's
      slice is [first:last]; NULL bounds for a NULL array);
    - every other array column: a column of the model, one element per row.
    Values are copied, never converted: a round trip is bit-identical.
-#}
{% macro scenario_store_packing_setup() %}
    create or replace aggregate {{ scenario_store_schema() }}.array_cat_agg(anycompatiblearray) (
        sfunc = array_cat,
        stype = anycompatiblearray
    );

    {#- SELECT that packs `source` (rows of one model) by `keys`, rows ordered by
        `order_by` inside each packed row, restricted by the SQL `filter`. #}
    create or replace function {{ scenario_store_schema() }}.packed_select(
        source regclass, keys text[], order_by text[], filter text default 'true'
    ) returns text language plpgsql stable as $body$
    declare
        col record;
        inner_items text[] := array['source_rows.*'];
        items text[] := '{}';
        row_order text := coalesce(
            (select string_agg(format('%I', name), ', ') from unnest(order_by) as name), 'true'
        );
        key_list text := (select string_agg(format('%I', name), ', ') from unnest(keys) as name);
    begin
        for col in
            select att.attname::text as name, typ.typcategory = 'A' as is_array
            from pg_attribute as att
            inner join pg_type as typ on att.atttypid = typ.oid
            where att.attrelid = source and att.attnum > 0 and not att.attisdropped
            order by att.attnum
        loop
            if col.name = any(keys) then
                items := items || format('%I', col.name);
            elsif col.is_array then
                inner_items := inner_items || format(
                    'sum(coalesce(cardinality(%1$I), 0)) over packed_order as %2$I',
                    col.name, col.name || '__end'
                );
                items := items || format(
                    'coalesce(%3$s.array_cat_agg(%1$I order by %2$s), ''{}'') as %1$I',
                    col.name, row_order, '{{ scenario_store_schema() }}'
                );
            else
                items := items || format('array_agg(%1$I order by %2$s) as %1$I', col.name, row_order);
            end if;
        end loop;
        for col in
            select att.attname::text as name
            from pg_attribute as att
            inner join pg_type as typ on att.atttypid = typ.oid
            where
                att.attrelid = source and att.attnum > 0 and not att.attisdropped
                and typ.typcategory = 'A' and not att.attname = any(keys)
            order by att.attnum
        loop
            items := items || format(
                'array_agg(case when %1$I is not null then %2$I - cardinality(%1$I) + 1 end'
                ' order by %3$s) as %4$I',
                col.name, col.name || '__end', row_order, col.name || '__first'
            ) || format(
                'array_agg(case when %1$I is not null then %2$I end order by %3$s) as %4$I',
                col.name, col.name || '__end', row_order, col.name || '__last'
            );
        end loop;
        items := items || 'count(*)::integer as packed_rows'::text;
        return format(
            'select %s from (select %s from %s as source_rows where %s'
            ' window packed_order as (partition by %s order by %s rows unbounded preceding))'
            ' as source_rows group by %s',
            array_to_string(items, ', '), array_to_string(inner_items, ', '), source,
            filter, key_list, row_order, key_list
        );
    end
    $body$;

    {#- The rows a packed table holds, as (name, SQL type), in the model's order. #}
    create or replace function {{ scenario_store_schema() }}.unpacked_columns(packed regclass)
    returns table (column_position integer, column_name text, column_type text, expression text)
    language sql stable as $body$
        with cols as (
            select
                att.attnum,
                att.attname::text as name,
                att.atttypmod,
                typ.typcategory = 'A' as is_array,
                typ.typelem,
                att.atttypid
            from pg_attribute as att
            inner join pg_type as typ on att.atttypid = typ.oid
            where att.attrelid = packed and att.attnum > 0 and not att.attisdropped
        ),
        flattened as (
            select cols.name
            from cols
            where cols.is_array and exists (
                select from cols as bounds where bounds.name = cols.name || '__first'
            )
        )
        select
            (row_number() over (order by cols.attnum))::integer,
            cols.name,
            case
                when cols.is_array and cols.name not in (select name from flattened)
                    then format_type(cols.typelem, cols.atttypmod)
                else format_type(cols.atttypid, cols.atttypmod)
            end,
            case
                when not cols.is_array then format('packed.%I', cols.name)
                when cols.name in (select name from flattened)
                    then format(
                        'case when unpacked.%2$I is not null'
                        ' then packed.%1$I[unpacked.%2$I:unpacked.%3$I] end',
                        cols.name, cols.name || '__first', cols.name || '__last'
                    )
                else format('unpacked.%I', cols.name)
            end
        from cols
        where
            cols.name <> 'packed_rows'
            and not exists (
                select from flattened
                where cols.name in (flattened.name || '__first', flattened.name || '__last')
            )
        order by cols.attnum
    $body$;

    {#- SELECT of the rows a packed table (or partitioned table of packed
        tables) holds, with the model's columns in order. #}
    create or replace function {{ scenario_store_schema() }}.unpacked_select(packed regclass)
    returns text language plpgsql stable as $body$
    declare
        element_columns text[];
    begin
        select array_agg(format('%I', att.attname) order by att.attnum)
        into element_columns
        from pg_attribute as att
        inner join pg_type as typ on att.atttypid = typ.oid
        where
            att.attrelid = packed and att.attnum > 0 and not att.attisdropped
            and typ.typcategory = 'A'
            and not exists (
                select from pg_attribute as bounds
                where
                    bounds.attrelid = packed and not bounds.attisdropped
                    and bounds.attname = att.attname || '__first'
            );
        return format(
            'select %s from %s as packed cross join lateral unnest(%s) as unpacked (%s)',
            (select string_agg(
                format('%s as %I', cols.expression, cols.column_name), ', ' order by cols.column_position
            ) from {{ scenario_store_schema() }}.unpacked_columns(packed) as cols),
            packed,
            (select string_agg('packed.' || name, ', ') from unnest(element_columns) as name),
            array_to_string(element_columns, ', ')
        );
    end
    $body$;
{% endmacro %}
