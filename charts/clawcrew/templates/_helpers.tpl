{{- define "clawcrew.name" -}}clawcrew{{- end -}}

{{- define "clawcrew.fullname" -}}
{{- if contains "clawcrew" .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-clawcrew" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "clawcrew.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clawcrew.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "clawcrew.labels" -}}
{{ include "clawcrew.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clawcrew
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "clawcrew.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "clawcrew.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}
