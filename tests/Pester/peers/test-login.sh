#!/bin/bash
printf 'login: '
read -r user
printf 'Password: '
read -rs pass
echo
if [ "$user" = tester ] && [ "$pass" = s3cret ]; then echo "Welcome $user"; exec env PS1='$ ' TERM=$TERM /bin/sh -i; else echo "Login incorrect"; fi
