# tui.cmake — `rrvm tui` driven through tmux (send-keys, capture-pane) on a recorded test-kernel crash.
rrvm_e2e(tui_browse 600 ${E2E}/tui.sh browse)
rrvm_e2e(tui_damaged 300 ${E2E}/tui.sh damaged)
rrvm_e2e(tui_gdb 300 ${E2E}/tui.sh gdb)
rrvm_e2e(tui_cancel 300 ${E2E}/tui.sh cancel)
