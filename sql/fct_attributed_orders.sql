-- Attributed orders (campaigns attribute) with their campaign's type and variant's offer.
with final as (
    select
        attributed_orders.*,
        dim_campaigns.campaign_type,
        dim_variants.has_offer
    from attributed_orders
    left join dim_campaigns
        on attributed_orders.retailer_id = dim_campaigns.retailer_id
        and attributed_orders.campaign_id = dim_campaigns.campaign_id
    left join dim_variants
        on attributed_orders.retailer_id = dim_variants.retailer_id
        and attributed_orders.campaign_id = dim_variants.campaign_id
        and attributed_orders.variant_id = dim_variants.variant_id
)

select * from final
