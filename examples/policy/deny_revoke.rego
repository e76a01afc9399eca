# Deny a plan that revokes a protected Infobip API key.
#
# infobip-iac writes its JSON plan in Terraform's plan-JSON shape, so this policy reads it
# the way policies for Terraform plans do: a revoke is a resource change whose actions
# include "delete" (Infobip cannot delete a key; the tool disables it), and a replace
# (["create", "delete"]) revokes the old key too. Which keys are protected is data
# (data.json beside this file): addresses or glob patterns such as "api_keys.payments-*".
#
#   infobip-iac plan --format json > plan.json
#   conftest test plan.json --policy examples/policy --data examples/policy/data.json
#   opa eval --data examples/policy --input plan.json --format pretty "data.main.deny"
package main

import rego.v1

protected(address) if {
	some pattern in data.infobip.protected_keys
	glob.match(pattern, [], address)
}

deny contains message if {
	some change in input.resource_changes
	"delete" in change.change.actions
	protected(change.address)
	message := sprintf(
		"%s is a protected key and would be revoked (actions %v): revoke it only with a reviewed exception",
		[change.address, change.change.actions],
	)
}
