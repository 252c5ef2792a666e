-- One row per customer of a campaign run (over its channels): the arm it was in,
-- whether it was reached, and what it bought within the conversion window after.
-- Holdouts are measured from the moment their treatment counterparts were sent.
with settings as (
    select conversion_window_days from dim_reporting_settings
),

recipients as (
    select
        retailer_id,
        run_id,
        campaign_id,
        customer_id,
        max(variant_id) as variant_id,
        max(is_holdout) as is_holdout,
        min(completed_at) as reference_at,
        max(status = 'sent') as is_sent,
        max(is_delivered) as is_delivered,
        max(is_opened) as is_opened,
        max(is_clicked) as is_clicked
    from fct_message_sends
    -- the reached, and the holdout they are compared with (recorded, never sent)
    where status = 'sent' or is_holdout
    group by retailer_id, run_id, campaign_id, customer_id
),

offer_codes as (
    select distinct retailer_id, run_id, customer_id, promo_code
    from campaign_events
    where promo_code is not null
),

orders_in_window as (
    select
        recipients.retailer_id,
        recipients.run_id,
        recipients.customer_id,
        count(orders.order_id) as orders,
        sum(orders.total_cents) as revenue_cents,
        -- what the retailer gave away: discounts of orders that used this run's code
        sum(case when orders.promo_code = offer_codes.promo_code then orders.discount_cents
            else 0 end) as redeemed_discount_cents
    from recipients
    cross join settings
    inner join orders
        on recipients.retailer_id = orders.retailer_id
        and recipients.customer_id = orders.customer_id
        and orders.ordered_at >= recipients.reference_at
        and orders.ordered_at
            < recipients.reference_at + make_interval(0, 0, 0, settings.conversion_window_days)
    left join offer_codes
        on recipients.retailer_id = offer_codes.retailer_id
        and recipients.run_id = offer_codes.run_id
        and recipients.customer_id = offer_codes.customer_id
    group by recipients.retailer_id, recipients.run_id, recipients.customer_id
),

final as (
    select
        recipients.*,
        coalesce(orders_in_window.orders, 0) > 0 as has_converted,
        coalesce(orders_in_window.orders, 0) as orders_in_window,
        coalesce(orders_in_window.revenue_cents, 0) as revenue_cents,
        coalesce(orders_in_window.redeemed_discount_cents, 0) as redeemed_discount_cents
    from recipients
    left join orders_in_window
        on recipients.retailer_id = orders_in_window.retailer_id
        and recipients.run_id = orders_in_window.run_id
        and recipients.customer_id = orders_in_window.customer_id
)

select * from final
