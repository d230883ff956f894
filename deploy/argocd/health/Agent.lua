-- Argo CD health check for clawcrew.io/Agent (docs/gitops.md). The three checks share their first part: keep it in step.
local hs = { status = "Progressing", message = "Waiting for the clawcrew operator to report status" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
-- A status from an older generation says nothing about the current spec.
local generation = obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration ~= generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local found = {}
for _, condition in ipairs(obj.status.conditions) do
  if condition.observedGeneration == nil or generation == nil or condition.observedGeneration == generation then
    found[condition.type] = condition
  end
end
local function is(type, status)
  return found[type] ~= nil and found[type].status == status
end
local function say(condition)
  return condition.reason .. ": " .. condition.message
end
if is("Stalled", "True") then
  hs.status = "Degraded"
  hs.message = say(found.Stalled)
elseif is("Reconciling", "True") then
  hs.message = say(found.Reconciling)
elseif is("Ready", "True") then
  hs.status = "Healthy"
  hs.message = found.Ready.message
elseif found.Ready ~= nil and found.Ready.reason == "ScaledToZero" then
  -- Scaled to zero on purpose (spec.replicas 0, or an autoscaler), as Argo CD reads a Deployment.
  hs.status = "Healthy"
  hs.message = found.Ready.message
elseif found.Ready ~= nil then
  hs.message = say(found.Ready)
end
return hs
