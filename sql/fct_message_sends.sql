-- One row per message: its send, its delivery and engagement, its experiment arm.
-- Holdouts appear with status 'suppressed' (recorded, never sent).
with sends as (
    select
        retailer_id,
        message_id,
        run_id,
        campaign_id,
        customer_id,
        channel,
        variant_id,
        is_holdout,
        status,
        completed_at,
        -- what the provider bills the message as: a text each of its segments
        coalesce(segments, 1) as billed_units
    from message_sends
),

engagement as (
    -- the provider reports each event at least once; ingestion kept one of each
    select
        retailer_id,
        message_id,
        max(ip_pool) as ip_pool,
        max(event_type = 'delivered') as is_delivered,
        max(event_type in ('bounced_hard', 'bounced_soft')) as is_bounced,
        max(event_type in ('opened', 'clicked')) as is_opened,
        max(event_type = 'clicked') as is_clicked,
        max(event_type = 'unsubscribed') as is_unsubscribed,
        max(event_type = 'complained') as is_complained
    from delivery_events
    group by retailer_id, message_id
),

final as (
    select
        sends.retailer_id,
        sends.message_id,
        sends.run_id,
        sends.campaign_id,
        sends.customer_id,
        sends.channel,
        sends.variant_id,
        sends.status,
        sends.completed_at,
        sends.billed_units,
        sends.is_holdout,
        coalesce(engagement.ip_pool, dim_retailers.ip_pool) as ip_pool,
        coalesce(engagement.is_delivered, false) as is_delivered,
        coalesce(engagement.is_bounced, false) as is_bounced,
        coalesce(engagement.is_opened, false) as is_opened,
        coalesce(engagement.is_clicked, false) as is_clicked,
        coalesce(engagement.is_unsubscribed, false) as is_unsubscribed,
        coalesce(engagement.is_complained, false) as is_complained
    from sends
    left join engagement
        on sends.retailer_id = engagement.retailer_id
        and sends.message_id = engagement.message_id
    left join dim_retailers
        on sends.retailer_id = dim_retailers.retailer_id
)

select * from final
