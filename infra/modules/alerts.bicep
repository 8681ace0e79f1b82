// Alerts: an action group (email addresses and a webhook) and scheduled query rules (log search alerts) on the
// events core/telemetry.py sends to Application Insights (customEvents; attributes in customDimensions, as strings):
//   m365backup.run.finished           a run that ended failed, partial or interrupted          (run-failed)
//   m365backup.resource.finished      a resource with no usable restore point within the RPO   (resource-past-rpo)
//                                     a restore point flagged suspicious (ransomware signal)    (suspicious-point)
//   m365backup.run.finished           no run finished with a usable result within the RPO       (backup-overdue)
//   m365backup.verification.finished  a verification that found problems                       (verification-failed)
// The event names are the contract with core/telemetry.py (tests/infra/test_alerts.py checks each query names its
// event). Rules are stateful (autoMitigate): one notification per run, resource or verification, resolved once the
// condition clears. Log search alerts look back at most two days, hence the RPO's upper bound.

@description('Azure region of the alert rules.')
param location string

@description('Tags for every resource.')
param tags object

@description('Prefix of the action group\'s and the alert rules\' names.')
param namePrefix string

@description('Resource id of the Application Insights component the rules query.')
param applicationInsightsId string

@description('Email addresses notified when an alert fires (may be empty).')
param emailAddresses array

@secure()
@description('HTTPS URL that receives each alert as a POST in the common alert schema (Teams workflow, PagerDuty, ...); empty: none.')
param webhookUrl string = ''

@minValue(1)
@maxValue(48)
@description('BACKUP_RPO_HOURS: a resource whose last usable restore point is older than this is alerted on.')
param rpoHours int

@minValue(0)
@maxValue(4)
@description('Severity of the alerts (0 critical ... 4 verbose).')
param severity int = 1

var webhookUrls = empty(webhookUrl) ? [] : array(webhookUrl)

var resourceFinished = 'm365backup.resource.finished'
var runFinished = 'm365backup.run.finished'
var verificationFinished = 'm365backup.verification.finished'

var runFailedQuery = 'customEvents | where name == "${runFinished}" | extend status = tostring(customDimensions.status), run_id = tostring(customDimensions.run_id) | where status in ("failed", "partial", "interrupted") | project timestamp, run_id, status, failed = toint(customDimensions.failed), partial = toint(customDimensions.partial), error = tostring(customDimensions.error)'

// Every resource seen in the last RPO hours whose events since then have no usable point (succeeded or partial);
// resources skipped as having nothing to back up (no mailbox, no OneDrive) are not alerted on.
var pastRpoQuery = 'customEvents | where timestamp > ago(${rpoHours}h) | where name == "${resourceFinished}" | extend resource = tostring(customDimensions.resource), status = tostring(customDimensions.status) | summarize usable = countif(status in ("succeeded", "partial")), skipped = countif(status == "skipped"), last_error = take_anyif(tostring(customDimensions.error), status == "failed"), last_seen = max(timestamp) by resource | where usable == 0 and skipped == 0 | project resource, last_seen, last_error'

var suspiciousQuery = 'customEvents | where name == "${resourceFinished}" | where tostring(customDimensions.suspicious) =~ "true" | project timestamp, resource = tostring(customDimensions.resource), run_id = tostring(customDimensions.run_id), items = toint(customDimensions.items)'

// Zero rows fire it (LessThan 1): the timer stopped, the app is down, or every run failed.
var overdueQuery = 'customEvents | where timestamp > ago(${rpoHours}h) | where name == "${runFinished}" | where tostring(customDimensions.status) in ("succeeded", "partial")'

var verificationQuery = 'customEvents | where name == "${verificationFinished}" | extend status = tostring(customDimensions.status), verification_id = tostring(customDimensions.verification_id) | where status != "ok" | project timestamp, verification_id, status, missing = toint(customDimensions.missing), corrupted = toint(customDimensions.corrupted), unreadable = toint(customDimensions.unreadable)'

var rules = [
  {
    name: 'run-failed'
    displayName: 'M365 backup: a run failed or was partial'
    description: 'A backup run finished failed, partial (some resources or items not backed up) or interrupted. Open the run: python -m core runs, GET /api/v1/runs, or the dashboard.'
    query: runFailedQuery
    dimensions: [
      'run_id'
      'status'
    ]
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT30M'
    queryTimeRange: ''
  }
  {
    name: 'resource-past-rpo'
    displayName: 'M365 backup: a resource is past its RPO'
    description: 'A resource has had no usable restore point for more than BACKUP_RPO_HOURS (${rpoHours} h): every backup of it since failed.'
    query: pastRpoQuery
    dimensions: [
      'resource'
    ]
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT1H'
    window: 'PT1H'
    queryTimeRange: 'P2D'
  }
  {
    name: 'backup-overdue'
    displayName: 'M365 backup: no usable run within the RPO'
    description: 'No backup run finished succeeded or partial within BACKUP_RPO_HOURS (${rpoHours} h): the schedule, the app or its sign-in is broken, so every resource is past its RPO.'
    query: overdueQuery
    dimensions: []
    operator: 'LessThan'
    threshold: 1
    frequency: 'PT1H'
    window: 'PT1H'
    queryTimeRange: 'P2D'
  }
  {
    name: 'suspicious-point'
    displayName: 'M365 backup: a suspicious restore point'
    description: 'A restore point was flagged suspicious (mass changes, deletions or renames against the resource\'s baseline, encrypted-looking content, ransomware extensions). Check the resource; restores use its last clean point by default.'
    query: suspiciousQuery
    dimensions: [
      'resource'
      'run_id'
    ]
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT30M'
    queryTimeRange: ''
  }
  {
    name: 'verification-failed'
    displayName: 'M365 backup: a verification found problems'
    description: 'A verification found blobs missing, corrupted or unreadable. Run python -m core verify for the full list; each problem names the resource and item that need it.'
    query: verificationQuery
    dimensions: [
      'verification_id'
    ]
    operator: 'GreaterThan'
    threshold: 0
    frequency: 'PT15M'
    window: 'PT30M'
    queryTimeRange: ''
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-alerts'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'm365backup'
    enabled: true
    emailReceivers: [
      for (address, index) in emailAddresses: {
        name: 'email-${index}'
        emailAddress: trim(address)
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: [
      for url in webhookUrls: {
        name: 'webhook'
        serviceUri: url
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: severity
      enabled: true
      scopes: [
        applicationInsightsId
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      overrideQueryTimeRange: empty(rule.queryTimeRange) ? null : rule.queryTimeRange
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            dimensions: [
              for dimension in rule.dimensions: {
                name: dimension
                operator: 'Include'
                values: [
                  '*'
                ]
              }
            ]
            operator: rule.operator
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (rule, index) in rules: alertRules[index].name]
