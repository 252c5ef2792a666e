-- Deliverability per retailer, IP pool and day of sending: the shares of sent email
-- delivered (industry bar 99.9%), bounced, and of delivered email complained about
-- and unsubscribed from.
with sent as (
    select
        retailer_id,
        ip_pool,
        to_date(completed_at) as sent_on,
        is_delivered,
        is_bounced,
        is_complained,
        is_unsubscribed
    from fct_message_sends
    where status = 'sent' and channel = 'email'
),

daily as (
    select
        retailer_id,
        ip_pool,
        sent_on,
        count(*) as sent,
        sum(cast(is_delivered as bigint)) as delivered,
        sum(cast(is_bounced as bigint)) as bounced,
        sum(cast(is_complained as bigint)) as complaints,
        sum(cast(is_unsubscribed as bigint)) as unsubscribes
    from sent
    group by retailer_id, ip_pool, sent_on
),

final as (
    select
        *,
        delivered / sent as delivery_rate,
        bounced / sent as bounce_rate,
        complaints / nullif(delivered, 0) as complaint_rate,
        unsubscribes / nullif(delivered, 0) as unsubscribe_rate,
        delivered / sent >= 0.999 as meets_delivery_bar
    from daily
)

select * from final
