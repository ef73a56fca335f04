"""The domain: customers, their AWS accounts and the WorkSpaces resources we manage in them."""
