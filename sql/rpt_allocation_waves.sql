-- Each wave of an adaptive campaign run (allocation mode 'adaptive'), per variant: the
-- weight it was sent with, what it was decided from (variant_allocations), and what its
-- customers did. A wave is launched as its own run (<run>-w<K>), so fct_campaign_recipients
-- holds it under wave_run_id. `successes` counts the campaign's metric: an open (a click
-- counts as one), a click, or for 'conversion' an order within the conversion window
-- after the send (the decision itself counted attributed orders, which arrive later).
with allocations as (
    select
        retailer_id,
        campaign_id,
        run_id,
        wave,
        wave_run_id,
        variant_id,
        weight,
        metric,
        prob_best,
        is_stopped,
        winner_variant_id,
        decided_at
    from variant_allocations
),

arms as (
    select
        retailer_id,
        campaign_id,
        run_id as wave_run_id,
        variant_id,
        count(*) as sent,
        sum(cast(is_opened as bigint)) as opened,
        sum(cast(is_clicked as bigint)) as clicked,
        sum(cast(has_converted as bigint)) as converters
    from fct_campaign_recipients
    where is_sent and not is_holdout
    group by retailer_id, campaign_id, run_id, variant_id
),

measured as (
    select
        allocations.*,
        coalesce(arms.sent, 0) as sent,
        coalesce(arms.opened, 0) as opened,
        coalesce(arms.clicked, 0) as clicked,
        coalesce(arms.converters, 0) as converters
    from allocations
    left join arms
        on allocations.retailer_id = arms.retailer_id
        and allocations.campaign_id = arms.campaign_id
        and allocations.wave_run_id = arms.wave_run_id
        and allocations.variant_id = arms.variant_id
),

scored as (
    select
        measured.*,
        case metric when 'open' then opened when 'click' then clicked else converters end
            as successes
    from measured
),

final as (
    select scored.*, successes / nullif(sent, 0) as rate
    from scored
)

select * from final
