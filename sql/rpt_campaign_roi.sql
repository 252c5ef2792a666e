-- Incrementality and ROI per campaign and variant: each treatment arm against the
-- campaign's holdout, over the conversion window (dim_reporting_settings).
--   incremental revenue = (revenue per recipient - holdout's) x recipients
--   cost = billed units (a send; a text: each segment) x the channel's cost per
--          thousand / 1000 + discounts of redeemed offers
--   roi = (incremental revenue - cost) / cost
with arms as (
    select
        retailer_id,
        campaign_id,
        variant_id,
        is_holdout,
        count(*) as recipients,
        sum(cast(has_converted as bigint)) as converters,
        sum(revenue_cents) as revenue_cents,
        sum(redeemed_discount_cents) as discount_cost_cents
    from fct_campaign_recipients
    group by retailer_id, campaign_id, variant_id, is_holdout
),

holdout as (
    select
        retailer_id,
        campaign_id,
        recipients as holdout_recipients,
        converters / recipients as holdout_conversion_rate,
        revenue_cents / recipients as holdout_revenue_per_recipient_cents
    from arms
    where is_holdout
),

send_costs as (
    select
        fct_message_sends.retailer_id,
        fct_message_sends.campaign_id,
        fct_message_sends.variant_id,
        count(*) as sends,
        sum(dim_channel_costs.cost_per_thousand_cents * fct_message_sends.billed_units) / 1000.0
            as send_cost_cents
    from fct_message_sends
    inner join dim_channel_costs
        on fct_message_sends.channel = dim_channel_costs.channel
    where fct_message_sends.status = 'sent'
    group by fct_message_sends.retailer_id, fct_message_sends.campaign_id,
        fct_message_sends.variant_id
),

measured as (
    select
        arms.retailer_id,
        arms.campaign_id,
        arms.variant_id,
        arms.recipients,
        coalesce(send_costs.sends, 0) as sends,
        arms.converters,
        arms.converters / arms.recipients as conversion_rate,
        arms.revenue_cents,
        arms.revenue_cents / arms.recipients as revenue_per_recipient_cents,
        holdout.holdout_recipients,
        holdout.holdout_conversion_rate,
        holdout.holdout_revenue_per_recipient_cents,
        (arms.revenue_cents / arms.recipients - holdout.holdout_revenue_per_recipient_cents)
            * arms.recipients as incremental_revenue_cents,
        coalesce(send_costs.send_cost_cents, 0) as send_cost_cents,
        arms.discount_cost_cents,
        coalesce(send_costs.send_cost_cents, 0) + arms.discount_cost_cents as total_cost_cents
    from arms
    left join holdout
        on arms.retailer_id = holdout.retailer_id
        and arms.campaign_id = holdout.campaign_id
    left join send_costs
        on arms.retailer_id = send_costs.retailer_id
        and arms.campaign_id = send_costs.campaign_id
        and arms.variant_id = send_costs.variant_id
    where not arms.is_holdout
),

final as (
    select
        *,
        -- without a holdout there is no incrementality to speak of: null, not zero
        (incremental_revenue_cents - total_cost_cents) / nullif(total_cost_cents, 0) as roi,
        total_cost_cents / nullif(sends, 0) as cost_per_send_cents
    from measured
)

select * from final
