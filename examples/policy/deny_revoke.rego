# Deny any plan that revokes an Infobip API key.
#
# infobip-iac writes its JSON plan in Terraform's plan-JSON shape, so this policy reads it
# the way policies for Terraform plans do: a revoke is a resource change whose actions
# include "delete" (Infobip cannot delete a key; the tool disables it), and a replace
# (["create", "delete"]) revokes the old key too.
#
#   infobip-iac plan --format json > plan.json
#   conftest test plan.json --policy examples/policy
#   opa eval --data examples/policy --input plan.json --format pretty "data.main.deny"
package main

import rego.v1

deny contains message if {
	some change in input.resource_changes
	"delete" in change.change.actions
	message := sprintf(
		"%s would be revoked (actions %v): a revoke needs a reviewed exception",
		[change.address, change.change.actions],
	)
}
