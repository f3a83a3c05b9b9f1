dist_man_MANS += %D%/securechatd.8 %D%/securechatctl.8 %D%/securechat.1 %D%/securechat.conf.5
if HAVE_MANDOC
TESTS += %D%/lint.sh
endif
EXTRA_DIST += %D%/lint.sh
