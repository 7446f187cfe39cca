package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// registryActions are the ECR IAM actions behind registry operations, as
// the call log names them (METHOD-kind).
var registryActions = map[string][]string{
	"GET-ping": nil, "GET-manifest": {"ecr:BatchGetImage"}, "HEAD-manifest": {"ecr:BatchGetImage"},
	"PUT-manifest": {"ecr:PutImage"}, "DELETE-manifest": {"ecr:BatchDeleteImage"}, "GET-tag": {"ecr:ListImages"},
	"GET-blob": {"ecr:GetDownloadUrlForLayer"}, "HEAD-blob": {"ecr:BatchCheckLayerAvailability"},
	"POST-blob": {"ecr:InitiateLayerUpload"}, "PATCH-blob": {"ecr:UploadLayerPart"}, "PUT-blob": {"ecr:CompleteLayerUpload"},
}

// IAMActions are the IAM actions an operation needs, for an operation as
// the call log names it: "lambda:UpdateFunctionCode", "registry:PUT-manifest".
func IAMActions(op string) []string {
	service, name, _ := strings.Cut(op, ":")
	switch {
	case service == "registry":
		return registryActions[name]
	case op == "lambda:Invoke":
		return []string{"lambda:InvokeFunction"}
	}
	return []string{op}
}

// LoadAllowedActions reads the IAM actions a policy allows: an IAM policy
// document (every Allow statement's Action), or one action per line.
func LoadAllowedActions(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var policy struct {
		Statement []struct {
			Effect string
			Action any
		}
	}
	if err := json.Unmarshal(data, &policy); err != nil {
		var actions []string
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				actions = append(actions, line)
			}
		}
		return actions, nil
	}
	var actions []string
	for _, st := range policy.Statement {
		if st.Effect != "Allow" {
			continue
		}
		switch a := st.Action.(type) {
		case string:
			actions = append(actions, a)
		case []any:
			for _, v := range a {
				if s, ok := v.(string); ok {
					actions = append(actions, s)
				}
			}
		}
	}
	if len(actions) == 0 {
		return nil, fmt.Errorf("%s allows no actions", file)
	}
	return actions, nil
}

// denied is the error for an operation the allowed actions don't cover,
// worded as AWS words it; nil when allowed is nil (everything is allowed).
func denied(allowed map[string]bool, account, service, op string) *awsError {
	if allowed == nil {
		return nil
	}
	for _, action := range IAMActions(service + ":" + op) {
		if !allowed[action] && !allowed[strings.Split(action, ":")[0]+":*"] {
			typ := "AccessDeniedException"
			switch service {
			case "registry":
				typ = "DENIED"
			case "sts", "cloudformation":
				typ = "AccessDenied"
			}
			return &awsError{Type: typ, Status: http.StatusForbidden, Message: fmt.Sprintf(
				"User: arn:aws:iam::%s:user/localaws is not authorized to perform: %s because no identity-based policy allows the %s action", account, action, action)}
		}
	}
	return nil
}
