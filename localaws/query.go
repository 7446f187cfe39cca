package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

const (
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	cfnNamespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
)

var (
	stsActions = map[string]bool{"GetCallerIdentity": true}
	cfnActions = map[string]bool{"DescribeStacks": true}
)

// stsService answers GetCallerIdentity for a local user of the account.
type stsService struct{ account string }

func (s *stsService) serve(w http.ResponseWriter, action string) {
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	writeQuery(w, action, stsNamespace, result{
		Arn: fmt.Sprintf("arn:aws:iam::%s:user/localaws", s.account), UserId: "AIDALOCALAWSUSER0000", Account: s.account,
	}, nil)
}

// Stack is a CloudFormation stack as declared to localaws.
type Stack struct {
	Name    string            `json:"name"`
	Outputs map[string]string `json:"outputs"`
	Status  string            `json:"status,omitempty"` // default CREATE_COMPLETE
}

// cfnService answers DescribeStacks from declared stacks: from the --stacks
// file, and from the admin API (PUT /_localaws/stacks/NAME).
type cfnService struct {
	mu      sync.Mutex
	account string
	region  string
	stacks  map[string]Stack
	created time.Time
	store   store
}

func newCFN(opts Options) (*cfnService, error) {
	c := &cfnService{account: opts.Account, region: opts.Region, stacks: map[string]Stack{}, created: time.Now().UTC(), store: newStore(opts.Dir, "cloudformation")}
	if err := c.store.load(&c.stacks); err != nil {
		return nil, err
	}
	if opts.Stacks != "" {
		b, err := os.ReadFile(opts.Stacks)
		if err != nil {
			return nil, fmt.Errorf("--stacks: %w", err)
		}
		var declared []Stack
		if err := json.Unmarshal(b, &declared); err != nil {
			return nil, fmt.Errorf("--stacks %s: %v; write a JSON list such as [{\"name\": \"orders\", \"outputs\": {\"ApiFunction\": \"orders-api\"}}]", opts.Stacks, err)
		}
		for _, st := range declared {
			if st.Name == "" {
				return nil, fmt.Errorf("--stacks %s: a stack has no name", opts.Stacks)
			}
			c.stacks[st.Name] = st
		}
	}
	return c, nil
}

// put declares or replaces a stack.
func (c *cfnService) put(st Stack) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stacks[st.Name] = st
	return c.store.save(c.stacks)
}

func (c *cfnService) serve(w http.ResponseWriter, form url.Values, action string) {
	type output struct {
		OutputKey   string
		OutputValue string
	}
	type stack struct {
		StackName    string
		StackId      string
		StackStatus  string
		CreationTime string
		Outputs      []output `xml:"Outputs>member"`
	}
	type result struct {
		Stacks []stack `xml:"Stacks>member"`
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	name := form.Get("StackName")
	var names []string
	if name != "" {
		if _, ok := c.stacks[name]; !ok {
			writeQuery(w, action, cfnNamespace, nil, badRequest("ValidationError", "Stack with id %s does not exist", name))
			return
		}
		names = []string{name}
	} else {
		for n := range c.stacks {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var out result
	for _, n := range names {
		st := c.stacks[n]
		status := st.Status
		if status == "" {
			status = "CREATE_COMPLETE"
		}
		s := stack{StackName: n, StackStatus: status, CreationTime: c.created.Format(time.RFC3339),
			StackId: fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", c.region, c.account, n)}
		keys := make([]string, 0, len(st.Outputs))
		for k := range st.Outputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s.Outputs = append(s.Outputs, output{OutputKey: k, OutputValue: st.Outputs[k]})
		}
		out.Stacks = append(out.Stacks, s)
	}
	writeQuery(w, action, cfnNamespace, out, nil)
}
