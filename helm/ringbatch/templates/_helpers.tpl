{{/*
The chart's name, or nameOverride.
*/}}
{{- define "ringbatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name of the resources: fullnameOverride, or <release>-<chart> (just <release> when it already
contains the chart's name), cut to 63 characters.
*/}}
{{- define "ringbatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ringbatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels every resource carries.
*/}}
{{- define "ringbatch.labels" -}}
helm.sh/chart: {{ include "ringbatch.chart" . }}
{{ include "ringbatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels that select the pods: they never change after install.
*/}}
{{- define "ringbatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ringbatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Annotations every resource carries (commonAnnotations), as a block under "annotations:".
*/}}
{{- define "ringbatch.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/*
The worker pods' labels that select them: not the StatefulSet's (its selector, which never changes, must
not take them, nor the Service, which must not send requests to them).
*/}}
{{- define "ringbatch.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ringbatch.name" . }}-worker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "ringbatch.workerLabels" -}}
helm.sh/chart: {{ include "ringbatch.chart" . }}
{{ include "ringbatch.workerSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "ringbatch.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
"true" when one job's partitions run on every pod: PostgreSQL holds the job repository and the queue, and
the output volume, where the work directories are, is ReadWriteMany.
*/}}
{{- define "ringbatch.clusterMode" -}}
{{- if and .Values.database.external.enabled .Values.output.readWriteMany -}}true{{- end -}}
{{- end -}}

{{- define "ringbatch.workersEnabled" -}}
{{- if or (gt (int .Values.workers.replicas) 0) .Values.workers.autoscaling.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The pool of a pod: database.external.poolSize, else its partition threads (config.workers, else the CPU
limit rounded up, else 2) plus 10 (the job store, the commits, the queue and the manager's polls).
*/}}
{{- define "ringbatch.poolSize" -}}
{{- if .Values.database.external.poolSize -}}
{{- .Values.database.external.poolSize -}}
{{- else -}}
{{- $threads := 2 -}}
{{- if .Values.config.workers -}}
{{- $threads = int .Values.config.workers -}}
{{- else -}}
{{- $cpu := "" -}}
{{- with .Values.resources.limits }}{{ $cpu = toString (default "" .cpu) }}{{ end -}}
{{- if hasSuffix "m" $cpu -}}
{{- $threads = int (ceil (divf (float64 (trimSuffix "m" $cpu)) 1000)) -}}
{{- else if $cpu -}}
{{- $threads = int (ceil (float64 $cpu)) -}}
{{- end -}}
{{- end -}}
{{- add (max $threads 1) 10 -}}
{{- end -}}
{{- end -}}

{{- define "ringbatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ringbatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
registry/repository:tag, or @digest when one is given.
*/}}
{{- define "ringbatch.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "ringbatch.testImage" -}}
{{- $i := .Values.tests.image -}}
{{- if $i.registry -}}{{- printf "%s/%s:%s" $i.registry $i.repository $i.tag -}}{{- else -}}{{- printf "%s:%s" $i.repository $i.tag -}}{{- end -}}
{{- end -}}

{{/*
The Secret with the passwords: existingSecret, or the chart's.
*/}}
{{- define "ringbatch.secretName" -}}
{{- default (include "ringbatch.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "ringbatch.databaseSecretName" -}}
{{- default (include "ringbatch.fullname" .) .Values.database.external.existingSecret -}}
{{- end -}}

{{- define "ringbatch.databaseSecretKey" -}}
{{- if .Values.database.external.existingSecret -}}
{{- .Values.database.external.existingSecretPasswordKey -}}
{{- else -}}
database-password
{{- end -}}
{{- end -}}

{{/*
A volume source from values: existingClaim, nfs or hostPath; else an emptyDir.
*/}}
{{- define "ringbatch.volumeSource" -}}
{{- if .existingClaim }}
persistentVolumeClaim:
  claimName: {{ .existingClaim | quote }}
{{- else if .nfs.server }}
nfs:
  server: {{ .nfs.server | quote }}
  path: {{ required "an nfs volume needs nfs.path" .nfs.path | quote }}
{{- else if .hostPath }}
hostPath:
  path: {{ .hostPath | quote }}
  type: Directory
{{- else }}
emptyDir: {}
{{- end }}
{{- end -}}

{{/*
Refuses combinations the schema cannot express.
*/}}
{{- define "ringbatch.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.database.external.enabled) -}}
{{- fail "replicaCount > 1 needs database.external.enabled: H2 is a file of one process" -}}
{{- end -}}
{{- if and .Values.database.external.enabled (not .Values.database.external.url) -}}
{{- fail "database.external.enabled needs database.external.url (jdbc:postgresql://host:5432/db)" -}}
{{- end -}}
{{- if and .Values.database.external.enabled (not .Values.database.external.existingSecret) (not .Values.database.external.password) -}}
{{- fail "database.external needs password or existingSecret" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled .Values.database.external.enabled (not .Values.networkPolicy.databaseCidr) (not .Values.networkPolicy.databaseSelector) -}}
{{- fail "networkPolicy.enabled with database.external needs networkPolicy.databaseCidr or networkPolicy.databaseSelector (where PostgreSQL is), or networkPolicy.enabled=false: the pods may reach nothing else" -}}
{{- end -}}
{{- if and (include "ringbatch.workersEnabled" .) (not (include "ringbatch.clusterMode" .)) -}}
{{- fail "workers need database.external.enabled and output.readWriteMany: they take partitions from the PostgreSQL queue and write the work files on the shared output volume" -}}
{{- end -}}
{{- $shutdown := include "ringbatch.shutdownTimeoutMillis" . | int64 -}}
{{- if lt (mul (int64 .Values.terminationGracePeriodSeconds) 1000) (add $shutdown 10000) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least shutdownTimeout (%v) + 10s: the running jobs get shutdownTimeout to stop, then the web server, the executors and the database close before Kubernetes kills the pod" .Values.terminationGracePeriodSeconds .Values.shutdownTimeout) -}}
{{- end -}}
{{- end -}}

{{/*
shutdownTimeout in milliseconds. The schema allows a number with one unit (ms, s, m, h, d), or 0: the
forms Spring Boot reads as a Duration.
*/}}
{{- define "ringbatch.shutdownTimeoutMillis" -}}
{{- $t := toString .Values.shutdownTimeout -}}
{{- $n := regexFind "^[0-9]+" $t -}}
{{- $unit := trimPrefix $n $t -}}
{{- $perUnit := dict "" 1 "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 -}}
{{- mul (int64 $n) (get $perUnit $unit) -}}
{{- end -}}

{{- define "ringbatch.probeTimings" -}}
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end -}}
