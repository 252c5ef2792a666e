-- Sends over time per retailer, day and channel, with what became of them.
with sent as (
    select
        retailer_id,
        to_date(completed_at) as sent_on,
        channel,
        is_delivered,
        is_opened,
        is_clicked
    from fct_message_sends
    where status = 'sent'
),

final as (
    select
        retailer_id,
        sent_on,
        channel,
        count(*) as sends,
        sum(cast(is_delivered as bigint)) as delivered,
        sum(cast(is_opened as bigint)) as opened,
        sum(cast(is_clicked as bigint)) as clicked
    from sent
    group by retailer_id, sent_on, channel
)

select * from final
