package localaws

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Each container runs under a monitor of its own: this program started
// again under the name monitorName. In the foreground, runc copies a
// container's stdout and stderr through pipes of its own, so a line the
// function printed could reach the log after the response it came before,
// and stdout and stderr lose their order. Detached, runc hands the container
// localaws's log pipe itself, but its caller must then be the container's
// subreaper (runc's docs/terminals.md): the monitor is that, so that
// localaws needn't be, for a whole process. It exits as runc in the
// foreground does: with the container's exit status, or 128 + the signal
// that ended it. SIGTERM (localaws's death, through the parent-death
// signal) kills the container.
const monitorName = "localaws-container-monitor"

func init() {
	if filepath.Base(os.Args[0]) == monitorName {
		os.Exit(monitor(os.Args[1], os.Args[2:]))
	}
}

// monitorCommand runs runc's args (without "run") under a monitor.
func monitorCommand(pidFile string, runc ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{Path: self, Args: append([]string{monitorName, pidFile}, runc...)}, nil
}

// monitor runs runc (which detaches once the container has started), then
// reaps the container, whose pid runc wrote to pidFile.
func monitor(pidFile string, runc []string) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "localaws: becoming the container's subreaper:", err)
		return 1
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	cmd := exec.Command(runc[0], runc[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return 1 // the container did not start; runc said why, into the function's log
	}
	data, err := os.ReadFile(pidFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || perr != nil {
		fmt.Fprintln(os.Stderr, "localaws: runc wrote no container pid:", err, perr)
		return 1
	}
	go func() {
		<-stop
		unix.Kill(pid, unix.SIGKILL)
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			fmt.Fprintln(os.Stderr, "localaws: waiting for the container:", err)
			return 1
		case wpid != pid:
			continue // an orphan of the container's, reaped
		case ws.Signaled():
			return 128 + int(ws.Signal())
		default:
			return ws.ExitStatus()
		}
	}
}
