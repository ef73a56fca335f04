"""The staff console's forms, one module per aggregate; they shape requests, the services judge them."""
