#!/bin/bash
# The test login program for telnetd-launcher.py: user tester, password s3cret, then an interactive sh.
# After a refused login it waits a moment, because telnetd drops pty output it has not yet
# forwarded when the login program exits.
printf 'login: '
read -r user
printf 'Password: '
read -rs pass
echo
if [ "$user" = tester ] && [ "$pass" = s3cret ]; then echo "Welcome $user"; exec env PS1='$ ' TERM=$TERM /bin/sh -i; else echo "Login incorrect"; sleep 1; fi
