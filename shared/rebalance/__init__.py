"""The rebalancer: inventory drift across venues → a transfer only when the arbitrage capacity
it restores is worth more than k x its fee (paper: simulated transfers with fee and delay;
live: proposed for approval, never sent silently); its cost is kept by kind."""
