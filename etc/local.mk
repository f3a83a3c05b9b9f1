dist_sysconf_DATA = %D%/securechat.conf
