"""Each library's private parts that textattn reaches into, one module per library, each guarded with a public fallback where one exists."""
