"""Market data: the seeded multi-venue simulator (`shared.market.simulator`) and pure
L2 book arithmetic (`shared.market.book`). Import the submodule you need: the book
helpers do not pull in numpy."""
