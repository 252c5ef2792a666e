"""Adaptive variant allocation: a campaign run sent in waves, each weighted by what the
earlier waves' engagement says (Thompson sampling on a Beta-Binomial model), until the
stopping rule gives the rest of the audience to the winner.

`bandit` is the arithmetic (pure, seeded), `outcomes` reads each wave's sends and
successes from the warehouse, `waves` decides and records a wave's weights in
`variant_allocations`, from which the launch assigns the wave's customers.
"""
