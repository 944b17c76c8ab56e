"""The rebalancer: inventory drift across venues → transfer plans (paper: simulated
transfers with fee and delay; live: proposed for approval, never sent silently)."""
