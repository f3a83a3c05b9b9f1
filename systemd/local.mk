EXTRA_DIST += %D%/securechat.service.in %D%/securechat-sysusers.conf %D%/securechat-tmpfiles.conf
